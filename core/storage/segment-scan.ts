/**
 * Sequential scan of the frames of one segment file, used by recovery (find the last valid
 * entry, re-index the tail), readBySeq and truncateAfter. Reads in chunks of `chunkBytes`
 * (grown once for a frame larger than a chunk), checks every frame's CRC32C, and stops at the
 * end, at a torn frame (cut short by the end of the file) or at bytes that are not a frame.
 */
import { checkFrame, decodeFrameFields, FRAME_HEADER_BYTES, type FrameFields } from './format.ts';
import { readAt } from './file-io.ts';

/** Recovery refuses frames claiming more than this (a corrupt length field, not a real entry). */
export const FRAME_BYTES_MAX = 256 * 1024 * 1024;
export const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export type ScanStop = 'end' | 'torn' | 'invalid' | 'visitor';

/**
 * Visits each valid frame: `bytes[framePosition, framePosition + frameBytes)` is the frame at
 * file position `filePosition`. Return false to stop. With `isFreshChunks`, each chunk is a new
 * buffer, so the visitor may keep views of it; otherwise one buffer is reused.
 */
export type FrameVisitor = (fields: FrameFields, bytes: Buffer, framePosition: number, filePosition: number,
  frameBytes: number) => boolean;

export async function scanFrames(fd: number, fromPosition: number, endPosition: number, visit: FrameVisitor,
  options: { chunkBytes?: number; isFreshChunks?: boolean } = {}): Promise<{ position: number; stop: ScanStop }> {
  const chunkBytes = options.chunkBytes ?? SCAN_CHUNK_BYTES;
  let bytes = Buffer.allocUnsafe(chunkBytes);
  const fields: FrameFields = { seq: 0, epoch: 0, streamId: 0, baseOffset: 0, recordCount: 0 };
  let filePosition = fromPosition;
  while (filePosition < endPosition) {
    const want = Math.min(bytes.length, endPosition - filePosition);
    const read = await readAt(fd, bytes, 0, want, filePosition);
    const isLastChunk = filePosition + read >= endPosition || read < want;
    let position = 0;
    for (;;) {
      const check = checkFrame(bytes, position, read, FRAME_BYTES_MAX);
      if (check === 'invalid') return { position: filePosition + position, stop: 'invalid' };
      if (check === 'short') {
        if (isLastChunk) return { position: filePosition + position, stop: position === read ? 'end' : 'torn' };
        break;
      }
      const frameBytes = decodeFrameFields(bytes, position, fields);
      if (!visit(fields, bytes, position, filePosition + position, frameBytes)) {
        return { position: filePosition + position, stop: 'visitor' };
      }
      position += frameBytes;
    }
    if (position === 0) {
      // A frame larger than the chunk: the length field was checked (<= FRAME_BYTES_MAX).
      bytes = Buffer.allocUnsafe(Math.max(bytes.readUInt32BE(0), FRAME_HEADER_BYTES));
    } else if (options.isFreshChunks) {
      bytes = Buffer.allocUnsafe(Math.max(chunkBytes, bytes.length));
    }
    filePosition += position;
  }
  return { position: filePosition, stop: 'end' };
}
