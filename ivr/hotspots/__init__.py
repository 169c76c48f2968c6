"""热点预警: surges of one topic or one place, one issue from several callers, sensitive words.

Pure detection, the clock passed in (`ivr.hotspots.detector`), fed by a leased job
(`ivr.hotspots.job`) that reads the recent cases from the database and stores the alerts.

    signature   a case's text → a weighted term vector (jieba words, concepts, category)
    topics      incremental clustering of the recent cases into topics
    history     the older cases, compact, for the usual level of a topic or a place
    surges      the test: a Poisson tail probability, a minimum count and a ratio
    repeats     one issue at one place from several callers within a day
    sensitive   the office's sensitive words in a case's text
    detector    all of the above for one run at `now`
"""
