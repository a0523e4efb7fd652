import { logLevel } from 'kafkajs';
import { isKafkaError } from '../../../lib/kafka/logs';

describe('kafkajs logs', () => {
  it('reports a broker response error that kafkajs retries as a warning, other errors as errors', () => {
    // Logged when a producer first writes to a topic the broker then creates.
    expect(isKafkaError(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)')).toBe(false);
    expect(isKafkaError(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092')).toBe(true);
    expect(isKafkaError(logLevel.WARN, 'The group is rebalancing, re-joining')).toBe(false);
  });
});
