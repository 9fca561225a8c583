import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'cli', integration: true });
