"""Groups of runs: one run per seed (`nnctl train CONFIG --seeds 0-4`) or per stratified validation fold
(`--folds 5`), in one group folder with summary.csv and summary.md (each metric's mean, standard deviation
and per-run values). Modules: plan (the options and each run's config), group (the folder and group.json),
summary (the statistics and tables), run (training the runs in turn, continuing a stopped group)."""
