import { messageWithCause, UnavailableError } from '../../lib/errors';

describe('messageWithCause', () => {
  it('adds the innermost cause, which names what failed', () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:8081');
    const client = new Error('Confluent_Schema_Registry - Error, status 400', { cause: refused });
    const error = new UnavailableError('could not register a schema for subject t-value', { cause: client });
    expect(messageWithCause(error)).toBe(
      'could not register a schema for subject t-value: connect ECONNREFUSED 127.0.0.1:8081',
    );
  });

  it('is the message alone without a cause, or when the message already says it', () => {
    expect(messageWithCause(new Error('no such settings file'))).toBe('no such settings file');
    const cause = new Error('timeout');
    expect(messageWithCause(new Error('request failed: timeout', { cause }))).toBe('request failed: timeout');
    expect(messageWithCause('plain')).toBe('plain');
  });

  it('stops at a cause that is not an Error, and at a cycle', () => {
    expect(messageWithCause(new Error('failed', { cause: 'socket hang up' }))).toBe('failed: socket hang up');
    const cyclic = new Error('loop');
    (cyclic as { cause?: unknown }).cause = cyclic;
    expect(messageWithCause(cyclic)).toBe('loop');
  });
});
