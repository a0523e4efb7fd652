import type { RuleArgs } from './cleaning';
import { describeValueType, RuleError } from './errors';

/** A merging function: the values of a group's inputs (after cleaning) in, one value out. */
export type MergingFunction = (values: readonly unknown[], args: RuleArgs) => unknown;

const present = (value: unknown): boolean => value !== null && value !== undefined && value !== '';

/** The merging functions a mapping can name for an input group with several inputs. */
export const MERGING_FUNCTIONS = {
  /** Joins the present values as text, `args.separator` between them (a space by default). */
  concatenate: (values, args) => {
    const parts = values.filter(present);
    for (const part of parts) {
      if (typeof part !== 'string' && typeof part !== 'number' && typeof part !== 'boolean') {
        throw new RuleError(describeValueType(part));
      }
    }
    if (parts.length === 0) return null;
    const separator = typeof args.separator === 'string' ? args.separator : ' ';
    return parts.map(String).join(separator);
  },
  /** The first present value. */
  coalesce: (values) => values.find(present) ?? null,
  /** The sum of the values, all of which must be numbers; absent when none is present. */
  sum: (values) => {
    const parts = values.filter(present);
    if (parts.length === 0) return null;
    let total = 0;
    for (const part of parts) {
      if (typeof part !== 'number') throw new RuleError(describeValueType(part));
      total += part;
    }
    return total;
  },
} as const satisfies Record<string, MergingFunction>;

/** The name of a merging function. */
export type MergingName = keyof typeof MERGING_FUNCTIONS;

/** Whether a mapping's merging name is a known function. */
export const isMergingName = (name: string): name is MergingName => Object.hasOwn(MERGING_FUNCTIONS, name);
