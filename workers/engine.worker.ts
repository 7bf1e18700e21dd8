// The engine's Web Worker: exposes EngineApi to the page over Comlink. No logic of its own.
import * as Comlink from 'comlink';
import { EngineApi } from '../engine/api.ts';

Comlink.expose(new EngineApi());
