/**
 * Reading the reference's PyTorch checkpoints ({@code .pt}) without Python (DESIGN §4).
 *
 * <p>A {@code torch.save} file (PyTorch 1.6 and later) is a zip: {@code data.pkl}, a pickle of the saved
 * object in which every tensor is a call {@code torch._utils._rebuild_tensor_v2(storage, offset, size,
 * stride, ...)} and every storage a persistent id {@code ('storage', torch.FloatStorage, key, location,
 * numel)}, and one raw little-endian record {@code data/<key>} per storage. The reference saves
 * {@code {"cfg": LanguageModelSAERunnerConfig(...), "state_dict": module.state_dict()}}.
 *
 * <p>Loading a pickle normally runs whatever functions it names, so a checkpoint can carry code. The
 * unpickler here runs none: it turns the few functions torch itself writes into Java (tensor and parameter
 * rebuilds, {@code OrderedDict}, {@code torch.device}) and refuses any other call by name; classes become
 * maps of their state and dtypes remain names. Entry point: {@link dev.mxd.checkpoint.torch.TorchCheckpoint}.
 */
package dev.mxd.checkpoint.torch;
