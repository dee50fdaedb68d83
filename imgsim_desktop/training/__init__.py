"""Training the bundled autoencoder: a pre-decoded photo cache, on-the-fly edited pairs, the training loop.

Run it as ``imgsim train [FOLDERS...]`` (see ``imgsim_desktop.cli.train_cmds``).
"""
