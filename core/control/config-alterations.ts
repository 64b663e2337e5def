/**
 * Kafka's two ways of changing a topic's configs, turned into what a configs-altered record
 * holds: the configs set, and the configs removed (back to their defaults).
 * - AlterConfigs replaces the whole set: the request's entries are set, every other config the
 *   topic has is removed.
 * - IncrementalAlterConfigs applies one operation per config: set, delete, append, subtract.
 *   Append and subtract work on list-valued configs only (Kafka's LIST type; of x2's configs,
 *   cleanup.policy), and the list they leave is validated like any other value.
 * A malformed request (a config named twice, a null value where one is needed, an unknown
 * operation) is INVALID_REQUEST, as in Kafka; the values themselves are checked by
 * ControlState.planAlterConfigs (INVALID_CONFIG). Pure.
 */
import { TOPIC_CONFIG_SPECS, topicConfigProblem, type TopicConfigs } from './topic-configs.ts';

/** IncrementalAlterConfigs operation ids (Kafka's AlterConfigOp.OpType). */
export const CONFIG_OPERATION = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
const OPERATION_NAMES = ['set', 'delete', 'append', 'subtract'] as const;

/** Kafka configs of type LIST among those x2 knows: their values are comma-separated. */
const LIST_CONFIGS: ReadonlySet<string> = new Set(['cleanup.policy']);

export type ConfigValue = { readonly name: string; readonly value: string | null };
export type ConfigOperation = ConfigValue & { readonly configOperation: number };
export type ConfigsChange = { readonly set: Record<string, string>; readonly removed: string[] };

function duplicateName(entries: readonly ConfigValue[]): string | null {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.name)) return entry.name;
    seen.add(entry.name);
  }
  return null;
}

/** Why an AlterConfigs resource is malformed, or null. */
export function replacementProblem(entries: readonly ConfigValue[]): string | null {
  const duplicate = duplicateName(entries);
  if (duplicate !== null) return `config "${duplicate}" is named more than once`;
  const nullValue = entries.find((entry) => entry.value === null);
  if (nullValue !== undefined) {
    return `config "${nullValue.name}" has a null value; leave it out to put it back to its default`;
  }
  return null;
}

/** AlterConfigs: `entries` are the new whole set; what `current` has beyond them is removed. */
export function replacedConfigs(current: TopicConfigs, entries: readonly ConfigValue[]): ConfigsChange {
  const set: Record<string, string> = {};
  for (const entry of entries) if (entry.value !== null) set[entry.name] = entry.value;
  return { set, removed: Object.keys(current).filter((name) => !Object.hasOwn(set, name)) };
}

/** Why an IncrementalAlterConfigs resource is malformed, or null. */
export function operationsProblem(operations: readonly ConfigOperation[]): string | null {
  const duplicate = duplicateName(operations);
  if (duplicate !== null) return `config "${duplicate}" is named more than once`;
  for (const operation of operations) {
    const name = OPERATION_NAMES[operation.configOperation];
    if (name === undefined) {
      return `config "${operation.name}": operation ${operation.configOperation} is unknown `
        + '(0 set, 1 delete, 2 append, 3 subtract)';
    }
    if (operation.value === null && operation.configOperation !== CONFIG_OPERATION.delete) {
      return `config "${operation.name}": ${name} needs a value (got null)`;
    }
  }
  return null;
}

function listOf(value: string): string[] {
  return value === '' ? [] : value.split(',');
}

/**
 * IncrementalAlterConfigs on a topic with `current` configs: the change, or why an append or
 * subtract cannot apply (INVALID_CONFIG). Expects operationsProblem() to have passed.
 */
export function incrementalConfigs(current: TopicConfigs, defaults: TopicConfigs,
  operations: readonly ConfigOperation[]): { ok: true; change: ConfigsChange } | { ok: false; problem: string } {
  const set: Record<string, string> = {};
  const removed: string[] = [];
  for (const { name, configOperation, value } of operations) {
    if (configOperation === CONFIG_OPERATION.delete) {
      removed.push(name);
      continue;
    }
    if (configOperation === CONFIG_OPERATION.set) {
      set[name] = value ?? '';
      continue;
    }
    const verb = OPERATION_NAMES[configOperation];
    if (TOPIC_CONFIG_SPECS[name] === undefined) return { ok: false, problem: topicConfigProblem(name, value) ?? '' };
    if (!LIST_CONFIGS.has(name)) {
      return { ok: false, problem: `config "${name}" is not a list: ${verb} applies to list-valued configs only `
        + `(${[...LIST_CONFIGS].join(', ')})` };
    }
    const list = listOf(current[name] ?? defaults[name] ?? '');
    const given = listOf(value ?? '');
    const next = configOperation === CONFIG_OPERATION.append
      ? [...list, ...given.filter((item, i) => !list.includes(item) && given.indexOf(item) === i)]
      : list.filter((item) => !given.includes(item));
    set[name] = next.join(',');
  }
  return { ok: true, change: { set, removed } };
}
