import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'app-demo', integration: true });
