import pytest

from nnctl.data import DATA_OPTIONS, DATASETS, validate_data_config
from nnctl.errors import ConfigError, InputError


def message(raw, path="data"):
    with pytest.raises(ConfigError) as info:
        validate_data_config(raw, path)
    return str(info.value)


def test_defaults_are_filled_with_dataset_first():
    cfg = validate_data_config({"dataset": "mnist"})
    assert cfg == {"dataset": "mnist", "val_size": 0.1, "limit": None, "normalize": "standard", "flatten": True,
                   "classes": None, "per_class": None, "sampler": None, "fold": None, "path": None, "download": True,
                   "verify": True}
    assert list(cfg)[0] == "dataset"


def test_synthetic_and_file_defaults():
    assert validate_data_config({"dataset": "spiral"}) == {
        "dataset": "spiral", "val_size": 0.1, "limit": None, "normalize": "standard", "flatten": True,
        "per_class": None, "sampler": None, "fold": None, "samples": 300, "classes": 3, "noise": 0.2, "test_size": 0.2}
    assert validate_data_config({"dataset": "csv", "path": "t.csv"})["label_column"] == -1
    assert validate_data_config({"dataset": "npz", "path": "d.npz"})["test_size"] is None


def test_every_dataset_accepts_its_defaults():
    for name, cls in DATASETS.items():
        required = {key: "f" for key, option in cls.options.items() if option.required}
        assert validate_data_config({"dataset": name, **required})["dataset"] == name


def test_the_common_keys():
    assert list(DATA_OPTIONS) == ["dataset", "val_size", "limit", "normalize", "flatten", "classes", "per_class",
                                  "sampler", "fold"]


def test_unknown_dataset_with_did_you_mean():
    assert message({"dataset": "mnits"}) == "data.dataset: unknown dataset 'mnits' (did you mean 'mnist'?)"
    assert message({"dataset": "imagenet"}) == ("data.dataset: unknown dataset 'imagenet'; known datasets: mnist, "
                                                "fashion-mnist, spiral, blobs, circles, xor, npz, csv, folder")
    assert message({"dataset": 3}) == ("data.dataset: expected a dataset name (mnist, fashion-mnist, spiral, blobs, "
                                       "circles, xor, npz, csv, folder), got 3")


def test_missing_dataset_and_not_a_mapping():
    assert message({"val_size": 0.1}) == "data.dataset: required key is missing"
    assert message(None) == "data.dataset: required key is missing"
    assert message("mnist") == "data: expected a mapping of keys to values, got 'mnist'"


def test_key_of_another_dataset():
    assert message({"dataset": "mnist", "noise": 0.1}) == (
        "data.noise: unknown key for dataset 'mnist' (it belongs to spiral, blobs, circles, xor)")
    assert message({"dataset": "mnist", "test_size": 0.1}) == (
        "data.test_size: unknown key for dataset 'mnist' (it belongs to spiral, blobs, circles, xor, npz, csv, "
        "folder)")


def test_typo_gets_did_you_mean():
    assert message({"dataset": "spiral", "val_sise": 3}) == (
        "data.val_sise: unknown key for dataset 'spiral' (did you mean 'val_size'?)")
    assert message({"dataset": "spiral", "zzz": 3}) == "data.zzz: unknown key for dataset 'spiral'"


def test_bad_values():
    assert message({"dataset": "spiral", "val_size": -1}) == (
        "data.val_size: expected a count (integer >= 0) or a fraction in (0, 1), got -1")
    assert message({"dataset": "spiral", "normalize": "zscore"}) == (
        "data.normalize: expected one of standard, minmax, none, got 'zscore'")
    assert message({"dataset": "spiral", "limit": 0}) == "data.limit: expected a positive integer or null, got 0"
    assert message({"dataset": "xor", "flatten": "yes"}) == "data.flatten: expected true or false, got 'yes'"
    assert message({"dataset": "csv", "path": "t.csv", "header": "maybe"}) == (
        "data.header: expected true, false or auto, got 'maybe'")
    assert message({"dataset": "csv", "path": "t.csv", "label_column": 1.5}) == (
        "data.label_column: expected a column index (integer) or a column name, got 1.5")


def test_required_path_and_custom_section_name():
    assert message({"dataset": "npz"}) == "data.path: required key is missing"
    assert message({"dataset": "npz"}, path="eval.data") == "eval.data.path: required key is missing"


def test_config_errors_are_input_errors_with_exit_code_2():
    with pytest.raises(InputError) as info:
        validate_data_config({"dataset": "mnits"})
    assert info.value.exit_code == 2 and info.value.path == "data.dataset"
