from imgsim_desktop.cli import main

raise SystemExit(main())
