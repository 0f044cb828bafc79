# Reference preprocessing for the qcal tests: interprets a DX-COM-style recipe with cv2, numpy and
# PIL (as DX-COM / Ultralytics / torchvision do) and saves one .npy per image.
# Usage: reference_preprocess.py RECIPE.json OUT_DIR IMAGE...
import json
import sys

import cv2
import numpy as np

CV_INTERP = {"LINEAR": cv2.INTER_LINEAR, "NEAREST": cv2.INTER_NEAREST, "CUBIC": cv2.INTER_CUBIC,
             "AREA": cv2.INTER_AREA, "LANCZOS4": cv2.INTER_LANCZOS4}


def letterbox(img, new_h, new_w, pad_value, center, interp):
    # Ultralytics LetterBox (ultralytics/data/augment.py), re-typed in numpy/cv2.
    shape = img.shape[:2]
    r = min(new_h / shape[0], new_w / shape[1])
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = new_w - new_unpad[0], new_h - new_unpad[1]
    if center:
        dw /= 2
        dh /= 2
    if shape[::-1] != new_unpad:
        img = cv2.resize(img, new_unpad, interpolation=interp)
    top, bottom = int(round(dh - 0.1)) if center else 0, int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)) if center else 0, int(round(dw + 0.1))
    return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=pad_value)


def pil_resize(img, w, h, interp):
    from PIL import Image
    filters = {"BILINEAR": Image.BILINEAR, "BICUBIC": Image.BICUBIC, "LANCZOS": Image.LANCZOS,
               "BOX": Image.BOX, "HAMMING": Image.HAMMING}
    mode = "L" if img.ndim == 2 else "RGB"  # PIL resamples each channel alike
    out = Image.fromarray(np.ascontiguousarray(img), mode).resize((w, h), filters[interp])
    return np.asarray(out)


def center_crop(img, cw, ch):
    h, w = img.shape[:2]
    if cw > w or ch > h:
        l = (cw - w) // 2 if cw > w else 0
        t = (ch - h) // 2 if ch > h else 0
        r = (cw - w + 1) // 2 if cw > w else 0
        b = (ch - h + 1) // 2 if ch > h else 0
        img = cv2.copyMakeBorder(img, t, b, l, r, cv2.BORDER_CONSTANT, value=0)
        h, w = img.shape[:2]
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return img[top:top + ch, left:left + cw]


def to_f32(x):
    return x if x.dtype == np.float32 else x.astype(np.float32)


def run(img, recipe):
    steps = recipe["preprocessings"] if isinstance(recipe, dict) else recipe
    x = img
    has_layout = any(next(iter(s)) in ("transpose", "expandDim") for s in steps)
    for st in steps:
        (name, p), = st.items()
        if name == "convertColor":
            form = p["form"].replace("LAB", "Lab")
            x = cv2.cvtColor(x, getattr(cv2, "COLOR_" + form))
        elif name == "resize":
            mode = p.get("mode", "default")
            size = p.get("size")
            if mode == "pad":
                nh = nw = size if size else None
                if not size:
                    nh, nw = p["height"], p["width"]
                pv = p.get("pad_value", [114, 114, 114])
                pv = pv if isinstance(pv, list) else [pv] * 3
                center = p.get("pad_location", "edge").upper() != "CORNER"
                x = letterbox(x, nh, nw, tuple(float(v) for v in pv), center,
                              CV_INTERP[p.get("interpolation", "LINEAR")])
            elif mode == "torchvision":
                h, w = x.shape[:2]
                if isinstance(size, int):
                    if h <= w:
                        nh, nw = size, int(size * w / h)
                    else:
                        nh, nw = int(size * h / w), size
                else:
                    nh, nw = p["height"], p["width"]
                x = pil_resize(x, nw, nh, p.get("interpolation", "BILINEAR"))
            else:
                nh, nw = (size, size) if size else (p["height"], p["width"])
                x = cv2.resize(x, (nw, nh), interpolation=CV_INTERP[p.get("interpolation", "LINEAR")])
        elif name == "centercrop":
            x = center_crop(x, p["width"], p["height"])
        elif name == "normalize":
            x = to_f32(x)
            mean = np.asarray(p["mean"], dtype=np.float32)
            std = np.asarray(p["std"], dtype=np.float32)
            x = (x - mean) / std
        elif name == "mul":
            x = to_f32(x) * np.float32(p["x"])
        elif name == "add":
            x = to_f32(x) + np.float32(p["x"])
        elif name == "subtract":
            x = to_f32(x) - np.float32(p["x"])
        elif name == "div":
            x = to_f32(x) / np.float32(p["x"])
        elif name == "transpose":
            x = np.transpose(x, p["axis"])
        elif name == "expandDim":
            x = np.expand_dims(x, p["axis"])
        else:
            raise SystemExit("unknown step " + name)
    if x.ndim == 2:
        x = x[:, :, None]
    if not has_layout:
        if isinstance(recipe, dict) and recipe.get("layout") == "NHWC":
            x = x[None]
        else:
            x = np.transpose(x, (2, 0, 1))[None]
    dtype = recipe.get("dtype", "float32") if isinstance(recipe, dict) else "float32"
    return np.ascontiguousarray(x.astype(dtype))


def main():
    # The file holds one recipe, or {"jobs": [recipe, ...]} to run several in one process
    # (outputs OUT_DIR/<job>_<image>.npy; a single recipe writes OUT_DIR/<image>.npy).
    spec = json.load(open(sys.argv[1]))
    jobs = spec["jobs"] if isinstance(spec, dict) and "jobs" in spec else None
    out_dir = sys.argv[2]
    images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in sys.argv[3:]]
    for j, recipe in enumerate(jobs if jobs is not None else [spec]):
        if isinstance(recipe, dict) and "default_loader" in recipe:
            recipe = recipe["default_loader"]
        for i, img in enumerate(images):
            name = ("%d_%d" % (j, i)) if jobs is not None else str(i)
            np.save("%s/%s.npy" % (out_dir, name), run(img, recipe))


if __name__ == "__main__":
    main()
