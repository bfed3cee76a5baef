import pytest
import torch

from cnnviz.core.data.augment import Augmentation


def _batch(n=256):
    # Images that are not left-right symmetric, so a flip is visible.
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_no_flags_means_no_augmentation():
    assert Augmentation.from_flags(affine=False, mirror=False) is None


def test_mirror_alone_flips_about_half_and_changes_nothing_else():
    x = _batch(1000)
    y = Augmentation.from_flags(affine=False, mirror=True)(x, torch.Generator().manual_seed(1))
    same = (y == x).flatten(1).all(1)
    flipped = (y == x.flip(-1)).flatten(1).all(1)
    assert bool((same ^ flipped).all())  # every image is itself or its mirror image, exactly
    assert 400 < int(flipped.sum()) < 600


def test_mirror_is_drawn_after_the_affine_transform():
    # A run with --augment alone must repeat as before --mirror existed: adding the
    # mirror only flips some of the very images that the affine draw produced.
    x = _batch()
    affine = Augmentation.from_flags(affine=True, mirror=False)(x, torch.Generator().manual_seed(2))
    both = Augmentation.from_flags(affine=True, mirror=True)(x, torch.Generator().manual_seed(2))
    same = (both == affine).flatten(1).all(1)
    flipped = (both == affine.flip(-1)).flatten(1).all(1)
    assert bool((same | flipped).all()) and 0 < int(flipped.sum()) < len(x)
    assert not torch.equal(affine, x)


@pytest.mark.parametrize("mirror", [False, True])
def test_same_generator_seed_same_images(mirror):
    x = _batch()
    aug = Augmentation.from_flags(affine=True, mirror=mirror)
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
