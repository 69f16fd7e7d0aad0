/**
 * Jest for e2e tests against the local control plane (e2e/cluster): same ESM ts-jest setup as
 * jest.config.js, one test file at a time (they share one cluster), long timeouts, and a global
 * setup/teardown that starts the cluster and always stops it again.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/e2e/**/*.e2e.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/e2e/.cluster/'],
  globalSetup: '<rootDir>/e2e/cluster/jest-global-setup.js',
  globalTeardown: '<rootDir>/e2e/cluster/jest-global-teardown.js',
  // One cluster for all files; a cold first run also builds it (tens of minutes, in globalSetup).
  maxWorkers: 1,
  testTimeout: 5 * 60 * 1000,
  slowTestThreshold: 60,
};
