"""imgsim-desktop: find duplicate and similar photos in local libraries."""

__version__ = "0.1.0"
