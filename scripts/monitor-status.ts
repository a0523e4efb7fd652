/** What Kafka says of the biometrics topics the sink reads. */
export type KafkaFigures = { topics: string[]; produced: number; lag: number };
export type StatusFigures = KafkaFigures & { sunk: number };

export type StatusSources = {
  kafkaFigures(): Promise<KafkaFigures>;
  /** Rows in the tables of `topics`: a count reads every row, so it grows with the tables. */
  sunkRows(topics: string[]): Promise<number>;
};

/**
 * `npm start`'s status figures. The tables are counted again only when Kafka's figures moved:
 * rows are written by the sink before it commits the offsets that change the lag, so unchanged
 * figures (most checks, between two simulator runs) mean unchanged rows.
 */
export const createStatusReader = (sources: StatusSources): (() => Promise<StatusFigures>) => {
  let last: { figures: string; sunk: number } | undefined;
  return async () => {
    const kafka = await sources.kafkaFigures();
    const figures = JSON.stringify(kafka);
    const sunk = last?.figures === figures ? last.sunk : await sources.sunkRows(kafka.topics);
    last = { figures, sunk };
    return { ...kafka, sunk };
  };
};
