import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'kafka', integration: true, testTimeoutMs: 120_000 });
