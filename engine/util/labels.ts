// The label the loss skips (PyTorch's cross_entropy ignore_index, which Hugging Face collators put
// on prompt and padding tokens). The kernels in wgsl/crossEntropy.wgsl and wgsl/lossReduce.wgsl
// test for the same value.
export const IGNORE_INDEX = -100;
