// mocha's spec reporter, plus: every skipped test with its reason, and the plain
// closing line CI reads: "N passed, N failed, N skipped".
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;

function skipReason(runnable) {
  for (let node = runnable; node; node = node.parent) {
    if (node.berthSkipReason) return node.berthSkipReason;
  }
  return 'no reason given';
}

class BerthReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on(EVENT_TEST_PENDING, (test) => skipped.push({ title: test.fullTitle(), reason: skipReason(test) }));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      if (skipped.length) {
        console.log('\nSkipped:');
        for (const s of skipped) console.log(`  - ${s.title}: ${s.reason}`);
      }
      console.log(`\n${passes} passed, ${failures} failed, ${pending} skipped`);
    });
  }
}

module.exports = BerthReporter;
