import { defineMatrix } from './support/matrix.js';

defineMatrix('ts');
