import { defineMatrix } from './support/matrix.js';

defineMatrix('ref');
