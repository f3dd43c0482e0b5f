//! Image counting for image-generation models (Titan Image Generator, Nova Canvas, Stability
//! SDXL, SD3/SD3.5, Stable Image Ultra/Core and other `stability.` models): how many images,
//! at what size and quality.
//!
//! Owns: which base model ids are image models, the request fields (`imageGenerationConfig`,
//! SDXL `samples`/`width`/`height`/`steps`, `taskType`) and the response arrays (`images[]`,
//! `artifacts[]`, counted without being read), and the per-family size defaults.
//! Must not: parse a body for a model that is not an image model, decode or keep any image or
//! prompt, or price anything.
use serde::Deserialize;

use super::event::{ImageQuality, ImageUsage};
use super::wire::{ArrLen, JNum, JObj, JStr};
use super::{MAX_IMAGES, RejectReason, Rejection};

/// Image model families, which differ in request shape and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `amazon.titan-image-generator-v1`, `-v2:0`.
    Titan,
    /// `amazon.nova-canvas-v1:0`.
    NovaCanvas,
    /// `stability.stable-diffusion-xl-v1` (and v0).
    Sdxl,
    /// SD3, SD3.5, Stable Image Ultra/Core and other `stability.` models: one image per
    /// request unless the response says otherwise; no size in the request.
    Stability,
}

impl Family {
    fn of(base_model: &str) -> Option<Family> {
        if base_model.starts_with("amazon.titan-image") {
            Some(Family::Titan)
        } else if base_model.starts_with("amazon.nova-canvas") {
            Some(Family::NovaCanvas)
        } else if base_model.starts_with("stability.stable-diffusion-xl") {
            Some(Family::Sdxl)
        } else if base_model.starts_with("stability.") {
            Some(Family::Stability)
        } else {
            None
        }
    }

    /// The size used when the request names none: Titan's documented default is 1408×1408
    /// (model-parameters-titan-image, as quoted in bedrock-formats.md §6.1); Nova Canvas and
    /// SDXL default to 1024×1024.
    fn default_size(self) -> Option<u32> {
        match self {
            Family::Titan => Some(1408),
            Family::NovaCanvas | Family::Sdxl => Some(1024),
            Family::Stability => None,
        }
    }
}

/// True when `base_model` is an image-generation model.
pub(crate) fn is_image_model(base_model: &str) -> bool {
    Family::of(base_model).is_some()
}

/// Titan / Nova Canvas `imageGenerationConfig`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GenerationConfig<'a> {
    #[serde(rename = "numberOfImages")]
    number_of_images: JNum,
    width: JNum,
    height: JNum,
    #[serde(borrow)]
    quality: JStr<'a>,
}

/// The request fields of every supported family (input images and prompts are skipped).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImageRequest<'a> {
    #[serde(rename = "taskType", borrow)]
    task_type: JStr<'a>,
    #[serde(rename = "imageGenerationConfig", borrow)]
    config: JObj<GenerationConfig<'a>>,
    samples: JNum,
    width: JNum,
    height: JNum,
    steps: JNum,
}

/// The response arrays, counted but never read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImageResponse {
    images: ArrLen,
    artifacts: ArrLen,
}

fn size(n: JNum) -> Option<u32> {
    n.int()
        .and_then(|v| u32::try_from(v).ok())
        .filter(|&v| v > 0)
}

fn image_count(n: u64, field: &str) -> Result<u32, Rejection> {
    if n > MAX_IMAGES {
        return Err(Rejection {
            reason: RejectReason::AbsurdCount,
            detail: format!("field {field}: more than {MAX_IMAGES} images"),
        });
    }
    // MAX_IMAGES fits in u32.
    Ok(n as u32)
}

/// A requested image count: absent or unreadable means the default of 1.
fn requested(n: JNum, field: &str) -> Result<u32, Rejection> {
    match n {
        JNum::Int(v) => image_count(v, field),
        JNum::Negative => Err(Rejection {
            reason: RejectReason::NegativeCount,
            detail: format!("field {field}: negative count"),
        }),
        _ => Ok(1),
    }
}

/// The images of one invocation of `base_model`, or `None` when it is not an image model.
/// `input`/`output` are the raw inline bodies.
pub(crate) fn image_usage(
    base_model: &str,
    input: Option<&str>,
    output: Option<&str>,
) -> Result<Option<ImageUsage>, Rejection> {
    let Some(family) = Family::of(base_model) else {
        return Ok(None);
    };
    let response = output
        .and_then(|o| serde_json::from_str::<JObj<ImageResponse>>(o).ok())
        .and_then(|r| match r {
            JObj::Val(r) => Some(r),
            _ => None,
        });
    let from_response = match response {
        Some(ImageResponse {
            images: ArrLen(Some(n)),
            ..
        }) => Some(image_count(n, "output.outputBodyJson.images")?),
        Some(ImageResponse {
            artifacts: ArrLen(Some(n)),
            ..
        }) => Some(image_count(n, "output.outputBodyJson.artifacts")?),
        _ => None,
    };
    let request = input
        .and_then(|i| serde_json::from_str::<JObj<ImageRequest<'_>>>(i).ok())
        .and_then(|r| match r {
            JObj::Val(r) => Some(r),
            _ => None,
        })
        .unwrap_or_default();
    let config = request.config.get();
    let background_removal = request.task_type.is("BACKGROUND_REMOVAL");

    let requested_count = match family {
        _ if background_removal => 1,
        Family::Titan | Family::NovaCanvas => match config {
            Some(c) => requested(
                c.number_of_images,
                "input.inputBodyJson.imageGenerationConfig.numberOfImages",
            )?,
            None => 1,
        },
        Family::Sdxl => requested(request.samples, "input.inputBodyJson.samples")?,
        Family::Stability => 1,
    };

    let (width, height) = match family {
        // The output size of background removal is the input image's, which is not logged.
        _ if background_removal => (None, None),
        Family::Titan | Family::NovaCanvas => (
            config.and_then(|c| size(c.width)),
            config.and_then(|c| size(c.height)),
        ),
        Family::Sdxl => (size(request.width), size(request.height)),
        Family::Stability => (None, None),
    };
    let default = if background_removal {
        None
    } else {
        family.default_size()
    };

    let quality = match family {
        Family::Titan | Family::NovaCanvas
            if config.is_some_and(|c| {
                c.quality
                    .as_str()
                    .is_some_and(|q| q.eq_ignore_ascii_case("premium"))
            }) =>
        {
            ImageQuality::Premium
        }
        Family::Sdxl if request.steps.int().is_some_and(|s| s > 50) => ImageQuality::Premium,
        _ => ImageQuality::Standard,
    };

    Ok(Some(ImageUsage {
        count: from_response.unwrap_or(requested_count),
        width: width.or(default),
        height: height.or(default),
        quality,
        counted_from_response: from_response.is_some(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(model: &str, input: Option<&str>, output: Option<&str>) -> ImageUsage {
        image_usage(model, input, output).unwrap().unwrap()
    }

    #[test]
    fn only_image_model_ids_are_image_models() {
        for m in [
            "amazon.titan-image-generator-v1",
            "amazon.titan-image-generator-v2:0",
            "amazon.nova-canvas-v1:0",
            "stability.stable-diffusion-xl-v1",
            "stability.sd3-5-large-v1:0",
            "stability.stable-image-ultra-v1:1",
            "stability.stable-image-core-v1:1",
        ] {
            assert!(is_image_model(m), "{m}");
        }
        for m in [
            "amazon.titan-text-express-v1",
            "amazon.nova-lite-v1:0",
            "amazon.titan-embed-image-v1",
        ] {
            assert!(!is_image_model(m), "{m}");
            assert_eq!(image_usage(m, Some("{}"), Some("{}")).unwrap(), None);
        }
    }

    #[test]
    fn titan_counts_response_images_with_requested_size_and_quality() {
        let u = usage(
            "amazon.titan-image-generator-v2:0",
            Some(
                r#"{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"a cat"},
               "imageGenerationConfig":{"numberOfImages":3,"quality":"premium","width":512,"height":768}}"#,
            ),
            Some(r#"{"images":["aGVsbG8=","d29ybGQ="],"error":null}"#),
        );
        assert_eq!(
            u,
            ImageUsage {
                count: 2,
                width: Some(512),
                height: Some(768),
                quality: ImageQuality::Premium,
                counted_from_response: true
            }
        );
    }

    #[test]
    fn titan_without_response_counts_the_request_and_uses_documented_defaults() {
        let u = usage(
            "amazon.titan-image-generator-v1",
            Some(r#"{"taskType":"TEXT_IMAGE","imageGenerationConfig":{"numberOfImages":4}}"#),
            None,
        );
        assert_eq!(
            u,
            ImageUsage {
                count: 4,
                width: Some(1408),
                height: Some(1408),
                quality: ImageQuality::Standard,
                counted_from_response: false
            }
        );
        let u = usage("amazon.titan-image-generator-v1", None, None);
        assert_eq!(
            (u.count, u.width, u.counted_from_response),
            (1, Some(1408), false)
        );
    }

    #[test]
    fn nova_canvas_defaults_to_1024_square() {
        let u = usage(
            "amazon.nova-canvas-v1:0",
            Some(
                r#"{"taskType":"TEXT_IMAGE","imageGenerationConfig":{"numberOfImages":2,"quality":"standard"}}"#,
            ),
            None,
        );
        assert_eq!((u.count, u.width, u.height), (2, Some(1024), Some(1024)));
        assert_eq!(u.quality, ImageQuality::Standard);
    }

    #[test]
    fn background_removal_is_one_image_of_unknown_size() {
        let u = usage(
            "amazon.titan-image-generator-v2:0",
            Some(r#"{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"aaaa"}}"#),
            None,
        );
        assert_eq!((u.count, u.width, u.height), (1, None, None));
    }

    #[test]
    fn sdxl_counts_artifacts_and_more_than_fifty_steps_is_premium() {
        let input =
            r#"{"text_prompts":[{"text":"x"}],"width":1152,"height":896,"steps":70,"samples":1}"#;
        let u = usage(
            "stability.stable-diffusion-xl-v1",
            Some(input),
            Some(
                r#"{"result":"success","artifacts":[{"seed":1,"base64":"aaaa","finishReason":"SUCCESS"}]}"#,
            ),
        );
        assert_eq!(
            u,
            ImageUsage {
                count: 1,
                width: Some(1152),
                height: Some(896),
                quality: ImageQuality::Premium,
                counted_from_response: true
            }
        );
        let u = usage(
            "stability.stable-diffusion-xl-v1",
            Some(r#"{"text_prompts":[],"steps":50,"samples":2}"#),
            None,
        );
        assert_eq!(
            (u.count, u.width, u.quality),
            (2, Some(1024), ImageQuality::Standard)
        );
    }

    #[test]
    fn newer_stability_models_are_one_image_without_size() {
        let u = usage(
            "stability.sd3-5-large-v1:0",
            Some(r#"{"prompt":"x","mode":"text-to-image","aspect_ratio":"1:1"}"#),
            None,
        );
        assert_eq!((u.count, u.width, u.height), (1, None, None));
        let u = usage(
            "stability.stable-image-ultra-v1:1",
            None,
            Some(r#"{"seeds":[1],"finish_reasons":[null],"images":["aaaa"]}"#),
        );
        assert_eq!((u.count, u.counted_from_response), (1, true));
    }

    #[test]
    fn negative_and_absurd_image_counts_reject() {
        let r = image_usage(
            "amazon.nova-canvas-v1:0",
            Some(r#"{"imageGenerationConfig":{"numberOfImages":-2}}"#),
            None,
        )
        .unwrap_err();
        assert_eq!(r.reason, RejectReason::NegativeCount);
        assert!(r.detail.contains("numberOfImages"));
        let r = image_usage(
            "stability.stable-diffusion-xl-v1",
            Some(r#"{"samples":10001}"#),
            None,
        )
        .unwrap_err();
        assert_eq!(r.reason, RejectReason::AbsurdCount);
        let r = image_usage(
            "amazon.titan-image-generator-v1",
            Some(r#"{"imageGenerationConfig":{"numberOfImages":"3"}}"#),
            None,
        )
        .unwrap();
        assert_eq!(r.map(|u| u.count), Some(1));
    }
}
