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
