import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'cqrs', integration: true });
