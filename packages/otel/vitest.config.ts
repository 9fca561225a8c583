import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'otel', integration: true });
