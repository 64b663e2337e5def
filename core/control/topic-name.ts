/**
 * Topic names and the reserved internal topics. Kafka's naming rule (legal characters
 * [a-zA-Z0-9._-], at most 249 characters, not "." or "..") is checked here, once, for
 * CreateTopics, auto-create and every other path that names a new topic.
 *
 * The internal topics have fixed streamIds below FIRST_USER_STREAM_ID, so every node knows where
 * cluster state lives before it has replayed anything. The `__x2_` prefix is reserved for them:
 * a user topic cannot take it, so a future internal stream can never collide with user data.
 */
export const TOPIC_NAME_CHARS_MAX = 249;
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
export const RESERVED_TOPIC_PREFIX = '__x2_';

/** The internal streams of DESIGN §7. One partition each; streamIds never change. */
export const INTERNAL_TOPICS = [
  { name: '__x2_control', streamId: 1 },
  { name: '__consumer_offsets', streamId: 2 },
  { name: '__x2_metrics', streamId: 3 },
] as const;

/** User streamIds start here; everything below is reserved for internal streams. */
export const FIRST_USER_STREAM_ID = 1024;

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.some((topic) => topic.name === name);
}

/**
 * Sidecar fence streams: one internal one-partition topic per (sidecar name, input stream), named
 * `__x2_sidecar.NAME.INPUTSTREAMID`, created by sidecars through __x2_control like a user topic
 * (so its streamId comes from the same counter) but internal: hidden from Metadata, retention and
 * Produce, never deleted by a client. Sidecars append their claims and checkpoints there.
 */
export const SIDECAR_TOPIC_PREFIX = '__x2_sidecar.';
const SIDECAR_TOPIC_NAME = /^__x2_sidecar\.([A-Za-z0-9._-]{1,128})\.([1-9][0-9]{0,15})$/;

export function sidecarTopicName(sidecarName: string, inputStreamId: number): string {
  return `${SIDECAR_TOPIC_PREFIX}${sidecarName}.${inputStreamId}`;
}

/** The sidecar name and input streamId a sidecar fence topic is for, or null for any other name. */
export function parseSidecarTopicName(name: string): { sidecarName: string; inputStreamId: number } | null {
  const match = SIDECAR_TOPIC_NAME.exec(name);
  if (!match || name.length > TOPIC_NAME_CHARS_MAX) return null;
  const inputStreamId = Number(match[2]);
  if (!Number.isSafeInteger(inputStreamId) || inputStreamId < FIRST_USER_STREAM_ID) return null;
  return { sidecarName: match[1]!, inputStreamId };
}

/** Why `name` cannot be a new user topic, or null when it can. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > TOPIC_NAME_CHARS_MAX) {
    return `topic name is ${name.length} characters long, at most ${TOPIC_NAME_CHARS_MAX} are allowed`;
  }
  if (!LEGAL_TOPIC_NAME.test(name)) {
    return `topic name "${name}" has characters outside [a-zA-Z0-9._-]`;
  }
  if (name.startsWith(RESERVED_TOPIC_PREFIX)) {
    return `topic names starting with "${RESERVED_TOPIC_PREFIX}" are reserved for x2's internal streams`;
  }
  return null;
}
