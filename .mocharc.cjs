// One mocha run over every package's tests, straight from the TypeScript sources:
// tsx compiles, and the "berth-source" export condition points @berth/* at src/.
module.exports = {
  spec: ['packages/*/test/**/*.test.ts'],
  'node-option': ['import=tsx', 'conditions=berth-source'],
  timeout: 120000,
  reporter: require.resolve('./scripts/mocha-reporter.cjs'),
  exit: true,
};
