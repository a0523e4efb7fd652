/**
 * FHIR paths as mappings write them: `birthDate`, `name[0].given[1]`, `diagnosis[*].rank` (one
 * element per row of a many join), `component:systolic.code` (a profile slice: a named element of
 * the array, the same element for every attribute naming that slice).
 */
export type PathSegment =
  | { kind: 'field'; name: string }
  | { kind: 'index'; name: string; index: number }
  | { kind: 'each'; name: string }
  | { kind: 'slice'; name: string; slice: string };

const SEGMENT = /^([a-zA-Z][a-zA-Z0-9]*)(?:\[(\d+|\*)\]|:([a-zA-Z][a-zA-Z0-9_-]*))?$/;

/** Parses a path; returns null when it is not one (the caller names the attribute). */
export const parsePath = (path: string): PathSegment[] | null => {
  const segments: PathSegment[] = [];
  for (const part of path.split('.')) {
    const match = SEGMENT.exec(part);
    if (match === null) return null;
    const [, name = '', index, slice] = match;
    if (index === '*') segments.push({ kind: 'each', name });
    else if (index !== undefined) segments.push({ kind: 'index', name, index: Number(index) });
    else if (slice !== undefined) segments.push({ kind: 'slice', name, slice });
    else segments.push({ kind: 'field', name });
  }
  return segments;
};

type Json = Record<string, unknown>;
/** Per array (by identity): slice name -> element index, so slices keep one element each. */
export type SliceIndex = WeakMap<unknown[], Map<string, number>>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Sets `value` at `segments` in `target`, creating objects and arrays on the way. `eachIndex` is
 * the element a `[*]` segment stands for. Holes left by absent values are removed by `pruneEmpty`.
 */
export const setAtPath = (
  target: Json,
  segments: readonly PathSegment[],
  value: unknown,
  eachIndex: number,
  slices: SliceIndex,
): void => {
  let node: Json = target;
  segments.forEach((segment, position) => {
    const last = position === segments.length - 1;
    if (segment.kind === 'field') {
      if (last) node[segment.name] = value;
      else node = childObject(node, segment.name);
      return;
    }
    const array = childArray(node, segment.name);
    const index =
      segment.kind === 'index'
        ? segment.index
        : segment.kind === 'each'
          ? eachIndex
          : sliceIndex(array, segment.slice, slices);
    if (last) array[index] = value;
    else {
      const next = array[index];
      if (isObject(next)) node = next;
      else {
        const created: Json = {};
        array[index] = created;
        node = created;
      }
    }
  });
};

const childObject = (node: Json, name: string): Json => {
  const next = node[name];
  if (isObject(next)) return next;
  const created: Json = {};
  node[name] = created;
  return created;
};

const childArray = (node: Json, name: string): unknown[] => {
  const next = node[name];
  if (Array.isArray(next)) return next;
  const created: unknown[] = [];
  node[name] = created;
  return created;
};

const sliceIndex = (array: unknown[], slice: string, slices: SliceIndex): number => {
  let byName = slices.get(array);
  if (byName === undefined) {
    byName = new Map();
    slices.set(array, byName);
  }
  const known = byName.get(slice);
  if (known !== undefined) return known;
  const index = array.length;
  byName.set(slice, index);
  array[index] = {};
  return index;
};

/** Removes holes, empty objects and empty arrays, which FHIR JSON forbids. Returns undefined if empty. */
export const pruneEmpty = (value: unknown): unknown => {
  if (Array.isArray(value)) {
    const items = value.map(pruneEmpty).filter((item) => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (isObject(value)) {
    let any = false;
    const result: Json = {};
    for (const [key, item] of Object.entries(value)) {
      const pruned = pruneEmpty(item);
      if (pruned !== undefined) {
        result[key] = pruned;
        any = true;
      }
    }
    return any ? result : undefined;
  }
  return value === null ? undefined : value;
};
