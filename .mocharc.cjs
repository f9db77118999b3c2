// One mocha run over every package's tests, straight from the TypeScript sources:
// tsx compiles, and the "berth-source" export condition points @berth/* at src/.
// Files named on the command line replace the default spec (mocha would add them).
const named = process.argv.slice(2).some((arg) => /\.(test\.)?[cm]?ts$/.test(arg));
module.exports = {
  ...(named ? {} : { spec: ['packages/*/test/**/*.test.ts'] }),
  'node-option': ['import=tsx', 'conditions=berth-source'],
  timeout: 120000,
  reporter: require.resolve('./scripts/mocha-reporter.cjs'),
  exit: true,
};
