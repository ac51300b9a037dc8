// SKELETON: Electron entry, to be implemented.
import { app } from 'electron';
void app.whenReady();
