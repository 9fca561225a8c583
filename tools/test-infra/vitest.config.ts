import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'test-infra', integration: true });
