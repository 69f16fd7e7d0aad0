/** The helper lives with the sentence encoder, which needs it too (agents never import operator). */
export { shareTypedArraysWithNode } from '../../../agents/brain/encoder/jest-realm.js';
