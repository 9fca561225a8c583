import { busProject } from '../../vitest.shared.ts';

export default busProject({ name: 'codecs', integration: true });
