import { expect } from 'chai';
import { MAX_CONTAINER_NAME_LENGTH, validateContainerName } from '@berth/core';
import { expectThrowsBerth } from './helpers.js';

describe('validateContainerName', () => {
  it('accepts typical names', () => {
    for (const name of ['c', 'web1', 'my-container', 'db_2', 'Ubuntu.22.04', 'a+b', 'user@host', 'x'.repeat(MAX_CONTAINER_NAME_LENGTH), 'snap0', 'a-']) {
      expect(validateContainerName(name)).to.equal(name);
    }
  });

  const refused: [string, string][] = [
    ['', 'empty'],
    ['x'.repeat(MAX_CONTAINER_NAME_LENGTH + 1), 'longer than'],
    ['a/b', '"/"'],
    ['/etc', '"/"'],
    ['..', '".."'],
    ['a..b', '".."'],
    ['.', '".."'],
    ['a\nb', 'control'],
    ['a\tb', 'control'],
    ['a\rb', 'control'],
    ['a\u0000b', 'control'],
    ['a\u007fb', 'control'],
    ['-rf', 'starts with "-"'],
    ['.hidden', 'starts with "."'],
    ['a b', 'white space'],
    [' a', 'white space'],
    ['a\u00a0b', 'white space'],
    ['$(x)', 'letters, digits'],
    ['a;b', 'letters, digits'],
    ['é', 'letters, digits'],
  ];
  for (const [name, reason] of refused) {
    it(`refuses ${JSON.stringify(name).slice(0, 30)} (${reason})`, () => {
      const error = expectThrowsBerth(() => validateContainerName(name), 'InvalidArgument');
      expect(error.name).to.equal('BerthError');
      expect(error.message).to.include(reason);
      expect(error.message.split('\n')).to.have.length(1);
    });
  }

  it('names what it checked in the message', () => {
    const error = expectThrowsBerth(() => validateContainerName('a/b', 'target name'), 'InvalidArgument');
    expect(error.message).to.match(/^invalid target name "a\/b"/);
  });
});
