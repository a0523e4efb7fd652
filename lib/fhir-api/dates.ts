import { BadRequestError } from '../http/errors';
import type { Filter } from './filter';

/**
 * FHIR R4 date search (http://hl7.org/fhir/R4/search.html#date). A search value and a stored value
 * are both ranges set by their precision (`2020-03` is the whole month); a prefix compares the two
 * ranges. Dates and times without a zone are taken as UTC, the server's zone.
 */
export const DATE_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'] as const;
export type DatePrefix = (typeof DATE_PREFIXES)[number];

/** A parsed date search value: `[start, end)` in epoch milliseconds, UTC. */
export type DateRange = { prefix: DatePrefix; start: number; end: number };

/** Where a resource type keeps a date: a single date/dateTime/instant, or a Period. */
export type DateTarget = { kind: 'value'; path: string } | { kind: 'period'; start: string; end: string };

// yyyy[-mm[-dd[Thh:mm[:ss[.fff]][Z|±hh:mm]]]] — the R4 date/dateTime grammar, minutes allowed as search
// engines commonly do.
const DATE_VALUE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const PREFIXED = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/;

const utc = (year: number, month: number, day = 1, hour = 0, minute = 0, second = 0, ms = 0): number => {
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not (and carries month 13 into a year).
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
};

const daysIn = (year: number, month: number): number => new Date(utc(year, month + 1, 1) - 1).getUTCDate();

/** Parses one `date` value (`ge2020-03`, `2020-03-01T10:00:00+01:00`); malformed → 400 naming the parameter. */
export const parseDateValue = (raw: string, parameter: string): DateRange => {
  const [, prefix = 'eq', value = ''] = PREFIXED.exec(raw) ?? [];
  if (prefix === 'ap') throw new BadRequestError(`${parameter}: the prefix ap is not supported`);
  const match = DATE_VALUE.exec(value);
  if (match === null) {
    throw new BadRequestError(
      `${parameter} must be [eq|ne|gt|lt|ge|le|sa|eb]yyyy[-mm[-dd[Thh:mm[:ss][Z|±hh:mm]]]]`,
    );
  }
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const invalid =
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    (zone !== undefined && zone !== 'Z' && (Number(zone.slice(1, 3)) > 14 || Number(zone.slice(4)) > 59));
  if (invalid) throw new BadRequestError(`${parameter} is not a valid calendar date or time`);
  const offsetMinutes =
    zone === undefined || zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
  const ms = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  const local = utc(year, month, day, hour, minute, second, ms);
  const start = local - offsetMinutes * 60_000;
  const end =
    mo === undefined
      ? utc(year + 1, 1) - offsetMinutes * 60_000
      : d === undefined
        ? utc(year, month + 1) - offsetMinutes * 60_000
        : h === undefined
          ? start + 86_400_000
          : s === undefined
            ? start + 60_000
            : fraction === undefined
              ? start + 1_000
              : start + 1;
  return { prefix: prefix as DatePrefix, start, end };
};

// Sorts after every stored date (all start with a digit): the bound past year 9999.
const AFTER_ALL = '~';

/**
 * The shortest string that starts the same instant as `instant` (`2020-03-01T00:00:00Z` →
 * `2020-03`). Stored dates are compared to it as strings: for a stored value `s` in canonical UTC
 * form (what the pipeline writes), `s >= key(B)` exactly when the range of `s` starts at or after B.
 */
export const boundaryKey = (instant: number): string => {
  const iso = new Date(instant).toISOString();
  if (!/^\d{4}-/.test(iso)) return instant > 0 ? AFTER_ALL : '';
  const parts = [
    iso.slice(0, 4),
    iso.slice(4, 7),
    iso.slice(7, 10),
    iso.slice(10, 13),
    iso.slice(13, 16),
    iso.slice(16, 19),
  ];
  const fraction = iso.slice(19, 23).replace(/0+$/, '');
  if (fraction !== '.') return `${parts.join('')}${fraction}`;
  const minimal = ['', '-01', '-01', 'T00', ':00', ':00'];
  while (parts.length > 1 && parts[parts.length - 1] === minimal[parts.length - 1]) parts.pop();
  return parts.join('');
};

// The stored partial dates that are proper prefixes of a key: `2020` and `2020-03` for `2020-03-15`.
// Their ranges end after the key starts although they sort before it.
const partialPrefixes = (key: string): string[] =>
  [4, 7, 10].filter((length) => key.length > length).map((length) => key.slice(0, length));

// A stored second-precision `…:ssZ` sorts after `…:ss.5` although it starts before it.
const sameSecond = (key: string): string[] =>
  key.length > 19 && key[19] === '.' ? [`${key.slice(0, 19)}Z`] : [];

const startsAtOrAfter = (path: string, instant: number): Filter => {
  const key = boundaryKey(instant);
  const excluded = sameSecond(key);
  return { [path]: excluded.length === 0 ? { $gte: key } : { $gte: key, $nin: excluded } };
};

const startsBefore = (path: string, instant: number): Filter => {
  const key = boundaryKey(instant);
  const included = sameSecond(key);
  return included.length === 0
    ? { [path]: { $lt: key } }
    : { $or: [{ [path]: { $lt: key } }, { [path]: { $in: included } }] };
};

const endsBefore = (path: string, instant: number): Filter => {
  const key = boundaryKey(instant);
  const excluded = partialPrefixes(key);
  return { [path]: excluded.length === 0 ? { $lt: key } : { $lt: key, $nin: excluded } };
};

const endsAtOrAfter = (path: string, instant: number): Filter => {
  const key = boundaryKey(instant);
  const included = partialPrefixes(key);
  return included.length === 0
    ? { [path]: { $gte: key } }
    : { $or: [{ [path]: { $gte: key } }, { [path]: { $in: included } }] };
};

type Bounds = {
  /** The target's range starts at or after the instant. */
  startsAtOrAfter(instant: number): Filter;
  startsBefore(instant: number): Filter;
  /** The target's range ends before the instant (its last moment is earlier). */
  endsBefore(instant: number): Filter;
  endsAtOrAfter(instant: number): Filter;
};

const or = (filters: Filter[]): Filter => (filters.length === 1 ? (filters[0] as Filter) : { $or: filters });
const and = (filters: Filter[]): Filter =>
  filters.length === 1 ? (filters[0] as Filter) : { $and: filters };

const boundsOf = (target: DateTarget): Bounds => {
  if (target.kind === 'value') {
    return {
      startsAtOrAfter: (instant) => startsAtOrAfter(target.path, instant),
      startsBefore: (instant) => startsBefore(target.path, instant),
      endsBefore: (instant) => endsBefore(target.path, instant),
      endsAtOrAfter: (instant) => endsAtOrAfter(target.path, instant),
    };
  }
  // A Period without a start began at an unknown time (-∞); one without an end is ongoing (+∞).
  // A resource without the Period at all has no value and matches nothing.
  const { start, end } = target;
  return {
    startsAtOrAfter: (instant) => startsAtOrAfter(start, instant),
    startsBefore: (instant) =>
      or([startsBefore(start, instant), { [start]: { $exists: false }, [end]: { $exists: true } }]),
    endsBefore: (instant) => endsBefore(end, instant),
    endsAtOrAfter: (instant) =>
      or([endsAtOrAfter(end, instant), { [end]: { $exists: false }, [start]: { $exists: true } }]),
  };
};

/**
 * The filter for one date value on one target, by the R4 prefix definitions: eq — the search range
 * contains the target; gt/lt — the range above/below the search value overlaps the target; ge/le —
 * gt/lt or eq; ne — not eq; sa/eb — the target starts after / ends before the search range.
 */
export const planDateTarget = (range: DateRange, target: DateTarget): Filter => {
  const bounds = boundsOf(target);
  const contained = (): Filter => and([bounds.startsAtOrAfter(range.start), bounds.endsBefore(range.end)]);
  switch (range.prefix) {
    case 'eq':
      return contained();
    case 'ne':
      return or([bounds.startsBefore(range.start), bounds.endsAtOrAfter(range.end)]);
    case 'gt':
      return bounds.endsAtOrAfter(range.end);
    case 'lt':
      return bounds.startsBefore(range.start);
    case 'ge':
      return or([bounds.endsAtOrAfter(range.end), contained()]);
    case 'le':
      return or([bounds.startsBefore(range.start), contained()]);
    case 'sa':
      return bounds.startsAtOrAfter(range.end);
    case 'eb':
      return bounds.endsBefore(range.start);
  }
};

/** One date value against every target of a parameter: a resource matches when any of its dates does. */
export const planDateFilter = (range: DateRange, targets: readonly DateTarget[]): Filter =>
  or(targets.map((target) => planDateTarget(range, target)));
