export * from './errors.ts';
export * from './device.ts';
export * from './tensor.ts';
export * from './buffers.ts';
export * from './params.ts';
export * from './pipelines.ts';
export * from './context.ts';
export * from './usage.ts';
