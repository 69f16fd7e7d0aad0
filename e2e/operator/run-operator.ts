/**
 * Starts `trainer-agent operator` as a host process for the e2e tests (the chart's Deployment runs
 * with 0 replicas there: the kubelets are fake). Usage: node --import tsx run-operator.ts [flags].
 */
import { operatorCommandFromArgs } from '../../operator/cli/operator.js';

process.exitCode = await operatorCommandFromArgs(process.argv.slice(2));
