/**
 * What Kafka says of the biometrics topics the sink reads, and of the pipeline and biometrics
 * topics holding records no function reads (`unread`).
 */
export type KafkaFigures = {
  topics: string[];
  produced: number;
  lag: number;
  /** Records of `topics` sent to the dead-letter topic: events that will never be rows. */
  deadLettered?: number;
  unread?: TopicRecords[];
};
/** Rows in the sink's tables of the topics, and those tables' names (the connector's table.name.format). */
export type SunkRows = { rows: number; tables: string[] };
export type StatusFigures = KafkaFigures & { sunk: number; tables?: string[] };

export type StatusSources = {
  kafkaFigures(): Promise<KafkaFigures>;
  /** Rows in the tables of `topics`: a count reads every row, so it grows with the tables. */
  sunkRows(topics: string[]): Promise<SunkRows>;
};

/**
 * `npm start`'s status figures. The tables are counted again only when Kafka's figures moved:
 * rows are written by the sink before it commits the offsets that change the lag, so unchanged
 * figures (most checks, between two simulator runs) mean unchanged rows.
 */
export const createStatusReader = (sources: StatusSources): (() => Promise<StatusFigures>) => {
  let last: { figures: string; sunk: SunkRows } | undefined;
  return async () => {
    const kafka = await sources.kafkaFigures();
    const figures = JSON.stringify(kafka);
    const sunk = last?.figures === figures ? last.sunk : await sources.sunkRows(kafka.topics);
    last = { figures, sunk };
    return { ...kafka, sunk: sunk.rows, tables: sunk.tables };
  };
};

/**
 * The status line of the figures: what the sink read, wrote, dead-lettered and has left to read.
 * Tables not named as their topics (another table.name.format) are named: rows written before a
 * rename are in the old table, so the events outnumber the rows.
 */
export const statusLine = ({
  topics,
  produced,
  sunk,
  tables,
  deadLettered = 0,
  lag,
}: StatusFigures): string => {
  if (topics.length === 0) return 'medstream: no biometrics topic is read yet';
  const into = tables?.some((table, index) => table !== topics[index]) ? ` into ${tables.join(', ')}` : '';
  const dead = deadLettered > 0 ? ` · ${deadLettered} dead-lettered (npx medstream dlq show)` : '';
  return `medstream: ${produced} events in ${topics.join(', ')} · ${sunk} rows sunk${into}${dead} · consumer lag ${lag}`;
};

/**
 * The line when the figures cannot be read. A refused connection is a service that is not running
 * (`npm run stack:down` while npm start runs, say): the line says how to check and start the stack.
 */
export const unavailableLine = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /ECONNREFUSED/.test(message)
    ? '; is the stack up? `npm run stack:status` says, `npm run stack:up` starts it'
    : '';
  return `medstream: status unavailable (${message})${hint}`;
};

/** A dead letter as the monitor reads it: where in the dead-letter topic, and its headers. */
export type DeadLetterRecord = { offset: string; headers?: Record<string, unknown> };

/**
 * Dead letters counted by source topic (`medstream.dlq.source.topic`) as the dead-letter topic is
 * read, only those of functions named with `functionPrefix` (`medstream-local-`: another stage on
 * the same broker, the walking-skeleton test's, dead-letters the same records again). A partition
 * read again from its start (its consumer rejoined without committed offsets) counts nothing twice:
 * `next` is the first offset of each partition not counted yet.
 */
export type DeadLetterCounts = {
  functionPrefix: string;
  bySource: Map<string, number>;
  next: Map<number, bigint>;
};

export const countDeadLetters = (
  counts: DeadLetterCounts,
  partition: number,
  records: readonly DeadLetterRecord[],
): void => {
  for (const { offset, headers } of records) {
    const at = BigInt(offset);
    if (at < (counts.next.get(partition) ?? 0n)) continue;
    counts.next.set(partition, at + 1n);
    const source = headers?.['medstream.dlq.source.topic'];
    const functionName = headers?.['medstream.dlq.function'];
    if (source === undefined || source === null || functionName === undefined || functionName === null)
      continue;
    if (!String(functionName).startsWith(counts.functionPrefix)) continue;
    const topic = String(source);
    counts.bySource.set(topic, (counts.bySource.get(topic) ?? 0) + 1);
  }
};

/** A live consumer group as the monitor sees it: each member's subscribed topics (none while it joins). */
export type GroupSubscriptions = { groupId: string; memberTopics: string[][] };

/**
 * The topics the live groups read, matching `pattern`. A member that is (re)joining, as every one
 * does after a broker restart, has no subscription to show for a moment: its group still reads
 * what it read at the last look (`remembered`, updated here), so the line does not flip to "no
 * topic is read" and back.
 */
export const topicsRead = (
  groups: GroupSubscriptions[],
  pattern: RegExp,
  remembered: Map<string, string[]>,
): string[] => {
  const read = new Set<string>();
  for (const { groupId, memberTopics } of groups) {
    const topics = [...new Set(memberTopics.flat().filter((topic) => pattern.test(topic)))];
    const joining = memberTopics.some((subscribed) => subscribed.length === 0);
    if (topics.length > 0 && !joining) remembered.set(groupId, topics);
    for (const topic of joining ? [...topics, ...(remembered.get(groupId) ?? [])] : topics) read.add(topic);
  }
  return [...read].sort();
};

/** The simulator's topics: `biometrics_<ward>`. */
export const BIOMETRICS_PREFIX = 'biometrics_';

/** A pipeline topic and the records it holds. */
export type TopicRecords = { topic: string; records: number };

/** What `unreadTopics` remembers between looks. */
export type UnreadState = {
  /** Records each topic held at the first look (topics created later start from 0). */
  baseline?: Map<string, number>;
  /** When each topic was first seen with unread new records. */
  since: Map<string, number>;
};

/**
 * Pipeline topics that received records during this run which no live group reads, once they have
 * been so for `graceMs` (consumers join a few seconds after start, and after the first record of a
 * new topic). Records older than the run (a topic of a mapping since removed) are not reported.
 */
export const unreadTopics = (
  topics: readonly TopicRecords[],
  read: ReadonlySet<string>,
  state: UnreadState,
  now: number,
  graceMs: number,
): TopicRecords[] => {
  state.baseline ??= new Map(topics.map(({ topic, records }) => [topic, records]));
  const baseline = state.baseline;
  const unread = topics.filter(
    ({ topic, records }) => !read.has(topic) && records > (baseline.get(topic) ?? 0),
  );
  const current = new Set(unread.map(({ topic }) => topic));
  for (const topic of state.since.keys()) if (!current.has(topic)) state.since.delete(topic);
  for (const { topic } of unread) if (!state.since.has(topic)) state.since.set(topic, now);
  return unread
    .filter(({ topic }) => now - (state.since.get(topic) ?? now) >= graceMs)
    .sort((left, right) => left.topic.localeCompare(right.topic));
};

/**
 * The status lines for topics nobody reads, with what to do: a `raw.*`/`fhir.*` topic is read once
 * npm start plans its events again (a mapping added since start); a `biometrics_<ward>` topic (say
 * `medstream produce --wards icu`) once the sink is started with that ward among `wards`.
 */
export const unreadNotes = (unread: readonly TopicRecords[], wards: readonly string[]): string[] => {
  const held = (topics: readonly TopicRecords[]) =>
    topics.map(({ topic, records }) => `${topic} (${records} records)`).join(', ');
  const pipeline = unread.filter(({ topic }) => !topic.startsWith(BIOMETRICS_PREFIX));
  const biometrics = unread.filter(({ topic }) => topic.startsWith(BIOMETRICS_PREFIX));
  const notes: string[] = [];
  if (pipeline.length > 0)
    notes.push(
      `medstream: no function reads ${held(pipeline)}: Kafka events are planned at start (from connectors/mappings): restart npm start to read a mapping added since`,
    );
  if (biometrics.length > 0) {
    const more = biometrics.map(({ topic }) => topic.slice(BIOMETRICS_PREFIX.length));
    notes.push(
      `medstream: the sink does not read ${held(biometrics)}: it reads the wards of SIMULATOR_WARDS (${wards.join(',')}): restart npm start with SIMULATOR_WARDS=${[...new Set([...wards, ...more])].join(',')} to sink them`,
    );
  }
  return notes;
};
