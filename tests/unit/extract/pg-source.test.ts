import { UnavailableError } from '../../../lib/errors';
import { classifyPgError, createPgSource } from '../../../lib/extract/pg-source';
import { SourceInputError, SourceQueryError } from '../../../lib/extract/source';

const pgError = (code: string | undefined, message = 'invalid input syntax for type integer: "abc"') =>
  Object.assign(new Error(message), code === undefined ? {} : { code });

describe('classifyPgError', () => {
  it.each([['22P02'], ['22003']])('treats data exception %s as the caller’s input', (code) => {
    expect(classifyPgError(pgError(code))).toBeInstanceOf(SourceInputError);
  });

  it.each([['08006'], ['53300'], ['57P01'], ['ECONNREFUSED'], [undefined]])(
    'treats %s as an outage',
    (code) => {
      const error = classifyPgError(pgError(code));
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ retryable: true });
    },
  );

  it('treats a rejected query as non-retryable, naming only the SQLSTATE', () => {
    const error = classifyPgError(pgError('42P01', 'relation "patients" does not exist'));
    expect(error).toBeInstanceOf(SourceQueryError);
    expect(error.message).toBe('the source rejected a generated query (SQLSTATE 42P01)');
  });
});

describe('createPgSource', () => {
  it('refuses a schema that is not a plain identifier', () => {
    expect(() => createPgSource({ connectionString: 'postgres://x@127.0.0.1/x', schema: 'a; DROP' })).toThrow(
      RangeError,
    );
  });
});
