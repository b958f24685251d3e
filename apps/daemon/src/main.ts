#!/usr/bin/env node
import { runDaemon } from '@pilot/daemon';

await runDaemon(process.argv.slice(2));
