/** Jest on ESM TypeScript: ts-jest transpiles, Node runs the ES modules (see shared notes/toolchain.md). */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testMatch: ['<rootDir>/agents/**/*.test.ts', '<rootDir>/operator/**/*.test.ts', '<rootDir>/charts/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 60000,
};
