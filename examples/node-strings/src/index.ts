export { capitalize, slugify, truncate, wordCount } from "./strings.js";
