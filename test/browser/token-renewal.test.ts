import { expect } from '@open-wc/testing';
import { ErrorCode, WdVideoError } from '../../src/core/errors.js';
import { checkToken, renewalDelay, tokenFrom } from '../../src/core/token-renewal.js';

/** An unsigned JWT with these claims: the client reads claims, only the broker checks signatures. */
const jwt = (claims: object) => `eyJhbGciOiJIUzI1NiJ9.${btoa(JSON.stringify(claims)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.c2ln`;
const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s;
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as WdVideoError).code;
  }
  return 'did not throw';
};

describe('token renewal timing and checks', () => {
  it('renews at 80% of the remaining lifetime, at least 5 s before exp, never before half of it', () => {
    const now = 1_000_000;
    expect(renewalDelay(now + 3_600_000, now)).to.equal(2_880_000); // 1 h: after 48 min
    expect(renewalDelay(now + 20_000, now)).to.equal(15_000); // 20 s: 5 s before
    expect(renewalDelay(now + 10_000, now)).to.equal(5_000); // 10 s: halfway, which is 5 s before
    expect(renewalDelay(now + 4_000, now)).to.equal(2_000); // shorter than the margin: halfway
    expect(renewalDelay(now - 1, now)).to.equal(0);
    expect(renewalDelay(now + 365 * 86_400_000, now)).to.equal(2 ** 31 - 1); // setTimeout's limit
  });

  it('checkToken: 40101 for an expired token, 40100 for no JWT or another uid; the token is never in the message', () => {
    expect(checkToken(jwt({ sub: 'ann', exp: inSeconds(60) }), 'ann').uid).to.equal('ann');
    expect(checkToken(jwt({ sub: 'ann', exp: inSeconds(60) })).uid).to.equal('ann');
    const expired = jwt({ sub: 'ann', exp: inSeconds(-5) });
    expect(codeOf(() => checkToken(expired))).to.equal(ErrorCode.TOKEN_EXPIRED);
    expect(codeOf(() => checkToken('not a jwt'))).to.equal(ErrorCode.INIT_FAILED);
    expect(codeOf(() => checkToken(jwt({ sub: 'ann', exp: inSeconds(60) }), 'bob'))).to.equal(ErrorCode.INIT_FAILED);
    try {
      checkToken(expired);
    } catch (error) {
      expect((error as Error).message).not.to.include(expired.split('.')[1]!);
    }
  });

  it('tokenFrom: a throwing getToken or one giving no string is 40100 with a readable message', async () => {
    const failure = (getToken: () => string | Promise<string>) =>
      tokenFrom(getToken).then(
        () => new Error('did not fail') as WdVideoError,
        (e: WdVideoError) => e,
      );
    const failed = await failure(() => Promise.reject(new Error('503 from the app server')));
    expect([failed.code, failed.message]).to.deep.equal([ErrorCode.INIT_FAILED, 'getToken() failed: 503 from the app server']);
    const notString = await failure(() => ({ token: 'x' }) as unknown as string);
    expect(notString.code).to.equal(ErrorCode.INIT_FAILED);
    expect(notString.message).to.match(/^the token from getToken\(\): /);
  });
});
