export { skipBecause } from './skip.js';
