import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'rpc', integration: true });
