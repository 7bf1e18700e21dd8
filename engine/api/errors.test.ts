// toApiError must keep what the user needs (class name, message, hint, sizes) as plain data that
// survives structured clone, since Comlink drops an Error's class and extra fields.
import { describe, expect, it } from 'vitest';
import { GpuDeviceLost, GpuOutOfMemory, WebGpuUnavailable } from '../gpu/errors.ts';
import { reportErrors, toApiError } from './errors.ts';

describe('toApiError', () => {
  it('keeps the class name, message and hint of a Whetstone error', () => {
    const e = toApiError(new WebGpuUnavailable('no GPU adapter was found', 'Enable WebGPU.'));
    expect(e).toEqual({ name: 'WebGpuUnavailable', message: 'WebGPU is not available: no GPU adapter was found', hint: 'Enable WebGPU.' });
    expect(structuredClone(e)).toEqual(e);
  });

  it('carries numeric details such as the size asked and the limit', () => {
    const e = toApiError(GpuOutOfMemory.allocating('logits', 3 * 2 ** 30, 2 ** 30));
    expect(e.name).toBe('GpuOutOfMemory');
    expect(e.details).toEqual({ requestedBytes: 3 * 2 ** 30, limitBytes: 2 ** 30 });
    expect(e.message).toContain('3.0 GiB');
  });

  it('a training run\'s out of memory carries the estimate\'s breakdown; a lost device the checkpoint to resume from', () => {
    const oom = toApiError(new GpuOutOfMemory('GPU out of memory: ...', 'Lower max_length.', { requestedBytes: 10, limitBytes: 5, weightsBytes: 4, loraBytes: 2, activationBytes: 4 }));
    expect(oom).toEqual({ name: 'GpuOutOfMemory', message: 'GPU out of memory: ...', hint: 'Lower max_length.', details: { requestedBytes: 10, limitBytes: 5, weightsBytes: 4, loraBytes: 2, activationBytes: 4 } });
    const lost = toApiError(new GpuDeviceLost('destroyed', '', { lastCheckpointStep: 3 }));
    expect(lost).toMatchObject({ name: 'GpuDeviceLost', message: 'The GPU device was lost during training (destroyed).', details: { lastCheckpointStep: 3 } });
    expect(lost.hint).toContain('Resume from the checkpoint of step 3');
    expect(toApiError(new GpuDeviceLost('destroyed', '', { lastCheckpointStep: null })).hint).toContain('No checkpoint was saved yet');
  });

  it('wraps plain errors and non-errors with a generic hint', () => {
    expect(toApiError(new TypeError('bad'))).toMatchObject({ name: 'TypeError', message: 'bad' });
    expect(toApiError('boom')).toMatchObject({ name: 'Error', message: 'boom' });
    expect(toApiError(new TypeError('bad')).hint.length).toBeGreaterThan(0);
  });

  it('reportErrors rethrows failures as plain objects and passes results through', async () => {
    await expect(reportErrors(async () => 42)).resolves.toBe(42);
    const thrown = await reportErrors(async () => {
      throw new WebGpuUnavailable('x', 'y');
    }).catch((e: unknown) => e);
    expect(thrown).not.toBeInstanceOf(Error);
    expect(thrown).toEqual({ name: 'WebGpuUnavailable', message: 'WebGPU is not available: x', hint: 'y' });
  });
});
