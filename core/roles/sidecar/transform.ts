/**
 * The user logic of a sidecar behind one interface, whatever its kind: a JavaScript module
 * (`--module`), a filter expression (`--where`) or a child process (`--exec`, exec-transform.ts).
 * The sidecar hands it the decoded input records of one or more river entries and gets, per
 * input record and in order, either the output records or the error that record caused; errors
 * are then handled per `--on-error` by the caller, never dropped here.
 *
 * Module contract: `export default function (record)` returns nothing, a record or an array of
 * records (or a promise of that); or `export function batch(records)` returns an array of
 * records for the whole batch (an error then fails every record of the batch). Optional
 * `init(ctx)` runs once before the first record, `flush()` after each batch of input: its
 * records go into the same atomic append as the batch's.
 */
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { X2Error } from '../../base/errors.ts';
import { compileWhere, type WhereFilter } from './where-expr.ts';
import { passThrough, toOutputRecords, type InputRecord, type OutputRecord } from './sidecar-records.ts';

export type Outcome = { outputs: OutputRecord[]; error: null } | { outputs: null; error: string };

export type TransformContext = {
  name: string;
  from: readonly string[];
  to: string;
  toPartitions: number;
  /** This sidecar process's id in its group (--name). */
  memberId: string;
  log(message: string): void;
};

export interface Transform {
  readonly kind: string;
  init(context: TransformContext): Promise<void>;
  apply(records: readonly InputRecord[]): Promise<Outcome[]>;
  /** Records emitted at the end of a batch (module `flush()`); [] for the other kinds. */
  flush(): Promise<OutputRecord[]>;
  close(): Promise<void>;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `thrown value ${String(error)}`;
}

type UserModule = {
  default?: unknown;
  batch?: unknown;
  init?: unknown;
  flush?: unknown;
};

/** Imports a user ES module by path; works from source and from the single executable. */
export async function importUserModule(path: string): Promise<UserModule> {
  const url = pathToFileURL(path).href;
  try {
    return await import(url) as UserModule;
  } catch (error) {
    // A bundled main script without a dynamic-import callback: import through a vm.Script that
    // uses the main context's default ESM loader instead.
    if ((error as { code?: string }).code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw error;
    const script = new vm.Script('(url) => import(url)', {
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    const load = script.runInThisContext() as (url: string) => Promise<UserModule>;
    return load(url);
  }
}

export class ModuleTransform implements Transform {
  readonly kind = 'module';
  readonly #module: UserModule;
  readonly #perRecord: ((record: InputRecord) => unknown) | null;
  readonly #batch: ((records: readonly InputRecord[]) => unknown) | null;

  private constructor(module: UserModule) {
    this.#module = module;
    this.#perRecord = typeof module.default === 'function' ? module.default as (record: InputRecord) => unknown : null;
    this.#batch = typeof module.batch === 'function'
      ? module.batch as (records: readonly InputRecord[]) => unknown : null;
  }

  static async load(path: string): Promise<ModuleTransform> {
    let module: UserModule;
    try {
      module = await importUserModule(path);
    } catch (error) {
      throw new X2Error('X2_ERR_USAGE', `--module ${path}: cannot load it: ${describeError(error)}`);
    }
    const transform = new ModuleTransform(module);
    if (!transform.#perRecord && !transform.#batch) {
      throw new X2Error('X2_ERR_USAGE',
        `--module ${path}: it exports neither a default function (per record) nor a batch function`);
    }
    return transform;
  }

  async init(context: TransformContext): Promise<void> {
    if (typeof this.#module.init === 'function') await (this.#module.init as (c: TransformContext) => unknown)(context);
  }

  async apply(records: readonly InputRecord[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = new Array<Outcome>(records.length);
    if (this.#batch) {
      try {
        let returned = this.#batch(records);
        if (returned instanceof Promise) returned = await returned;
        const last = records[records.length - 1];
        const outputs = last ? toOutputRecords(returned, last) : [];
        // The batch's outputs count with its last record; the others have none of their own.
        for (let i = 0; i < records.length; i++) {
          outcomes[i] = { outputs: i === records.length - 1 ? outputs : [], error: null };
        }
      } catch (error) {
        const message = `batch(): ${describeError(error)}`;
        for (let i = 0; i < records.length; i++) outcomes[i] = { outputs: null, error: message };
      }
      return outcomes;
    }
    const perRecord = this.#perRecord!;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      try {
        let returned = perRecord(record);
        if (returned instanceof Promise) returned = await returned;
        outcomes[i] = { outputs: toOutputRecords(returned, record), error: null };
      } catch (error) {
        outcomes[i] = { outputs: null, error: describeError(error) };
      }
    }
    return outcomes;
  }

  async flush(): Promise<OutputRecord[]> {
    if (typeof this.#module.flush !== 'function') return [];
    let returned = (this.#module.flush as () => unknown)();
    if (returned instanceof Promise) returned = await returned;
    return toOutputRecords(returned, { timestamp: Date.now() });
  }

  close(): Promise<void> { return Promise.resolve(); }
}

/** `--where`: keeps the records whose JSON value matches; a value that is not JSON is an error. */
export class WhereTransform implements Transform {
  readonly kind = 'where';
  readonly filter: WhereFilter;

  constructor(source: string) {
    this.filter = compileWhere(source);
  }

  init(): Promise<void> { return Promise.resolve(); }

  apply(records: readonly InputRecord[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = new Array<Outcome>(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      let value: unknown;
      try {
        value = record.value === null ? null : JSON.parse(record.value.toString('utf8')) as unknown;
      } catch (error) {
        outcomes[i] = { outputs: null, error: `the value is not JSON (${describeError(error)})` };
        continue;
      }
      const headers: Record<string, string | null> = {};
      for (const [name, headerValue] of Object.entries(record.headers)) {
        headers[name] = headerValue?.toString('utf8') ?? null;
      }
      const view = {
        topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp,
        key: record.key?.toString('utf8') ?? null, value, headers,
      };
      outcomes[i] = { outputs: this.filter.test(view) ? [passThrough(record)] : [], error: null };
    }
    return Promise.resolve(outcomes);
  }

  flush(): Promise<OutputRecord[]> { return Promise.resolve([]); }
  close(): Promise<void> { return Promise.resolve(); }
}
