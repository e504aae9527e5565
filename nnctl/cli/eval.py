"""`nnctl eval RUN|CHECKPOINT`: loss, accuracy and confusion matrix of a saved network on one split."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import corrupt_option, debug_option, split_option


@click.command("eval")
@click.argument("checkpoint", metavar="RUN|CHECKPOINT", type=click.Path(path_type=Path))
@split_option
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Samples per forward pass.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, metavar="CONFIG",
              help="Take the data (and seed) from CONFIG, and the network from the checkpoint alone; needed "
                   "for a checkpoint outside a run folder (a checkpoint's own paths are never followed).")
@corrupt_option
@debug_option
def command(checkpoint: Path, split: str, batch_size: int | None, config_path: Path | None, corruption) -> None:
    """Evaluate a run's best checkpoint on a split of its data: loss, accuracy, confusion matrix, and per
    class precision, recall, F1 and support with the macro and weighted F1 (and the top-k accuracies of the
    run's train.metrics).

    RUN is a run folder (its checkpoints/best.npz is used) or a CHECKPOINT file. The data comes from the
    run's own config.yaml, rebuilt with the same seed, so the splits are the ones it trained on; or from
    --config CONFIG (a checkpoint's own paths are never followed, see docs/trust.md). With several loss
    terms, each term's loss and each head's accuracy are shown too; for an autoencoder, the mean squared
    error of its reconstructions to the clean inputs (--corrupt damages the inputs first)."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.commands.evaluate import evaluate_checkpoint, save_evaluation
    from nnctl.viz.tables import align, confusion_text, per_class_rows

    result, out = evaluate_checkpoint(checkpoint, split, batch_size, progress=False, config_path=config_path,
                                      corruption=corruption)
    damaged = f" (inputs corrupted: {result['corruption']})" if result.get("corruption") else ""
    click.echo(f"{split}: {result['samples']} samples, loss {result['loss']:.6f}{damaged}")
    if result.get("term_loss"):
        click.echo("loss of each term: " + ", ".join(f"{k} {v:.6f}" for k, v in result["term_loss"].items()))
    if result.get("head_acc"):
        click.echo("accuracy of each head: " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in result["head_acc"].items()))
    if "reconstruction_mse" in result:
        click.echo(f"reconstruction mean squared error {result['reconstruction_mse']:.6f} (to the clean inputs)")
    if "acc" in result:
        click.echo(f"accuracy {100 * result['acc']:.2f}% ({result['correct']}/{result['samples']})")
    tops = [key for key in result if key.startswith("top") and key[3:].isdigit()]
    if tops:
        click.echo(", ".join(f"{key[:3]}-{key[3:]} accuracy {100 * result[key]:.2f}%" for key in tops))
    if "confusion" in result:
        click.echo(confusion_text(result["confusion"], result.get("class_names")))
    if "f1" in result:
        click.echo("\n".join(align(per_class_rows(result, result.get("class_names")), rule=True)))
    click.echo(f"wrote {save_evaluation(result, out)}")
