// SKELETON: the simlens CLI (import, pairs, info), to be implemented.
import { SimLensApp } from './app';
const app = new SimLensApp({ dbPath: process.argv[2] ?? ':memory:', shell: 'cli' });
console.log(JSON.stringify(app.info()));
void app.close();
