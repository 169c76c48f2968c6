"""Speech: vosk transcription, pyttsx3/espeak-ng prompts, audio conversion, model install.

    audio    read/write/resample WAV; to_asterisk_wav (8 kHz 16-bit mono); tones
    asr      Transcriber (async, executor-backed), Transcript, decode_raw (sync baseline)
    prompts  the prompt texts and tones
    tts      synthesize_clip, build_prompts (blocking: run them in an executor)
    models   MODELS, pull_model, run_pull (`ivr models pull`)

Import the submodule you need; this package imports nothing, so `audio` users do not load
vosk or espeak.
"""
