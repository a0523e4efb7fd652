/**
 * Lambda event filtering (the EventBridge pattern syntax Lambda uses for event source mappings):
 * a pattern is an object whose leaves are arrays of matchers; all keys must match (AND), any matcher
 * of a leaf may match (OR), several patterns are OR-ed. When a value in the record is an array, the
 * leaf matches if any element does.
 */
export type FilterPattern = { [key: string]: FilterPattern | Matcher[] };
export type Matcher = string | number | boolean | null | { [operator: string]: unknown };

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'numeric',
  'exists',
  'anything-but',
  'wildcard',
]);
const NUMERIC_OPERATORS = new Set(['<', '<=', '=', '>', '>=']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const validateMatcher = (matcher: unknown): string | undefined => {
  if (matcher === null || ['string', 'number', 'boolean'].includes(typeof matcher)) return undefined;
  if (!isObject(matcher)) return 'a matcher must be a value or an operator object';
  const keys = Object.keys(matcher);
  const [operator] = keys;
  if (keys.length !== 1 || operator === undefined) return 'an operator object has exactly one key';
  if (!OPERATORS.has(operator)) return `unsupported operator "${operator}"`;
  const argument = matcher[operator];
  if (operator === 'numeric') {
    if (!Array.isArray(argument) || argument.length === 0 || argument.length % 2 !== 0) {
      return 'numeric takes [op, number, ...]';
    }
    for (let i = 0; i < argument.length; i += 2) {
      if (!NUMERIC_OPERATORS.has(String(argument[i])) || typeof argument[i + 1] !== 'number') {
        return `invalid numeric comparison ${JSON.stringify(argument)}`;
      }
    }
  }
  if (operator === 'exists' && typeof argument !== 'boolean') return 'exists takes true or false';
  return undefined;
};

/** Returns a description of what is wrong with a pattern, or undefined when it is valid. */
export const validateFilterPattern = (pattern: unknown): string | undefined => {
  if (!isObject(pattern)) return 'a pattern must be an object';
  for (const [key, node] of Object.entries(pattern)) {
    if (Array.isArray(node)) {
      if (node.length === 0) return `"${key}" has an empty list of matchers`;
      for (const matcher of node) {
        const problem = validateMatcher(matcher);
        if (problem) return `"${key}": ${problem}`;
      }
    } else if (isObject(node)) {
      const problem = validateFilterPattern(node);
      if (problem) return `"${key}".${problem}`;
    } else {
      return `"${key}" must be a list of matchers or a nested pattern`;
    }
  }
  return undefined;
};

const compareNumeric = (value: number, spec: unknown[]): boolean => {
  for (let i = 0; i < spec.length; i += 2) {
    const operator = spec[i];
    const bound = spec[i + 1] as number;
    const ok =
      operator === '<'
        ? value < bound
        : operator === '<='
          ? value <= bound
          : operator === '='
            ? value === bound
            : operator === '>'
              ? value > bound
              : value >= bound;
    if (!ok) return false;
  }
  return true;
};

const wildcardToRegExp = (wildcard: string): RegExp =>
  new RegExp(
    `^${wildcard
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );

/** Matches one present scalar value against one matcher (exists is handled by the caller). */
const matchScalar = (matcher: Matcher, value: unknown): boolean => {
  if (!isObject(matcher)) {
    if (typeof matcher === 'number' && typeof value === 'number') return matcher === value;
    return matcher === value;
  }
  const [operator, argument] = Object.entries(matcher)[0] ?? [];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof argument === 'string' && value.startsWith(argument);
    case 'suffix':
      return typeof value === 'string' && typeof argument === 'string' && value.endsWith(argument);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' &&
        typeof argument === 'string' &&
        value.toLowerCase() === argument.toLowerCase()
      );
    case 'wildcard':
      return (
        typeof value === 'string' && typeof argument === 'string' && wildcardToRegExp(argument).test(value)
      );
    case 'numeric':
      return typeof value === 'number' && Array.isArray(argument) && compareNumeric(value, argument);
    case 'anything-but': {
      if (isObject(argument)) return !matchScalar(argument as Matcher, value);
      const excluded = Array.isArray(argument) ? argument : [argument];
      return !excluded.some((item) => item === value);
    }
    default:
      return false;
  }
};

const matchLeaf = (matchers: Matcher[], present: boolean, value: unknown): boolean =>
  matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) {
      // exists:true needs a present, non-object leaf value; exists:false needs the key to be absent.
      return matcher.exists === true ? present && !isObject(value) : !present;
    }
    if (!present) return false;
    if (Array.isArray(value)) return value.some((item) => matchScalar(matcher, item));
    return matchScalar(matcher, value);
  });

/** Whether a data object matches one pattern. */
export const matchesPattern = (pattern: FilterPattern, data: unknown): boolean =>
  Object.entries(pattern).every(([key, node]) => {
    const present = isObject(data) && Object.hasOwn(data, key);
    const value = present ? data[key] : undefined;
    if (Array.isArray(node)) return matchLeaf(node, present, value);
    if (Array.isArray(value)) return value.some((item) => matchesPattern(node, item));
    return matchesPattern(node, isObject(value) ? value : undefined);
  });

/** Lambda delivers a record when it matches any pattern; with no patterns everything is delivered. */
export const matchesAnyPattern = (patterns: FilterPattern[], data: unknown): boolean =>
  patterns.length === 0 || patterns.some((pattern) => matchesPattern(pattern, data));
